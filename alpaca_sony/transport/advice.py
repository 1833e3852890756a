"""What to tell a person when the camera's USB link is not usable: the fixes named in messages.

Plain text with no USB library behind it, so every layer that words an error can import it.
"""

from __future__ import annotations

UDEV_FIX = (
    "install the udev rule shipped in device/: "
    "sudo cp device/60-alpaca-sony.rules /etc/udev/rules.d/ && "
    "sudo udevadm control --reload && sudo udevadm trigger, "
    "add your user to the plugdev group, then unplug and replug the camera"
)
PC_REMOTE_HOWTO = (
    "on the camera set MENU > Network (or Setup) > USB Connection (or 'USB Connection Mode') to "
    "'PC Remote' (on a7R IV-generation bodies also MENU > Network > PC Remote Function > "
    "PC Remote: On), then reconnect the cable"
)
