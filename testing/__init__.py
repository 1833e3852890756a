"""Test rigs that are not part of the shipped package: the umockdev seam (the simulator behind the
real libusb and usbfs code paths) and the simulated camera in a child process. Tests, benchmarks and
the conformance run use them; the wheel does not contain them (tests/test_quality.py checks)."""
