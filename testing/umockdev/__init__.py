"""Expose a :class:`UsbFunction` to the real libusb (and so to pyusb) through umockdev.

umockdev's preload library (``LD_PRELOAD``, set by ``umockdev-wrapper``) redirects ``/sys`` and
``/dev`` into a temporary test bed and forwards every ``ioctl()`` on an emulated device node to a
handler in this process. This package writes the sysfs description of a USB device built from its
:class:`UsbIdentity` and answers the usbdevfs ioctls libusb issues (``SUBMITURB``,
``REAPURBNDELAY``, ``DISCARDURB``, ...), so the unchanged libusb and pyusb code paths run against a
simulated camera: enumeration, descriptors, claiming, bulk and interrupt transfers, timeouts,
stalls and disconnects.

Modules: ``harness`` (:class:`~harness.UmockdevHarness`), ``runner`` (run code behind a harness;
the command line), ``environment`` (PyGObject, the wrapper, the preload), ``testbed`` (devices in
and out of sysfs), ``descriptors`` (what the identity looks like on the bus), ``usbfs`` (the
ioctls of one device node), ``transfers`` (its URBs), ``control`` (endpoint 0 requests), ``urbs``
(URB and client records), ``usbfs_abi`` (the kernel's numbers and layouts).

Requirements (Debian): ``umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi`` and
``libusb-1.0-0`` (or the PyPI ``libusb-package``). PyGObject is taken from Debian's
``/usr/lib/python3/dist-packages`` when it is not importable otherwise; it is imported lazily, so
importing this package never needs it.

The process must run under ``umockdev-wrapper``, and the harness must be started before the first
``usb.core.find()``: libusb scans sysfs and opens its hot-plug monitor once, at its first use.

Typical use, in a process started as ``umockdev-wrapper python script.py``::

    with UmockdevHarness(function) as harness:
        dev = harness.find()  # a usb.core.Device on the real libusb1 backend
        dev.set_configuration()
        dev.write(0x02, b"...")

or from any process (the helper spawns ``umockdev-wrapper``)::

    run_under_harness("pkg.sim:make_function", "pkg.checks:main")  # main(harness) -> exit code

which is the command line (it re-executes itself under ``umockdev-wrapper`` when needed)::

    python -m testing.umockdev pkg.sim:make_function pkg.checks:main
    python -m testing.umockdev pkg.sim:make_function -m pkg.app ARGS...

Handlers run on the test bed's GLib worker thread; a thread blocked in libusb has released the
GIL, so no main loop is needed.
"""
