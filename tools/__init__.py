"""The project's own tools, run from the checkout as ``python -m tools.NAME``.

``demo`` and ``demo_server`` (``make demo``, ``make stop``) run a whole lab:
``livelab`` (its processes), ``front`` (its nginx) and ``example`` (the example
job and device). The tests and benchmarks import these to run the same lab.
``board`` is an emulated U-Boot board (QEMU + U-Boot behind ser2net, with
power scripts or a PDU) for the jobs a real board runs: tools/board/README.md.
"""
