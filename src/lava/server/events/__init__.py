"""Events: every job, device, worker and test-case change, as LAVA publishes them.

The processes that change things (web, scheduler) build an ``Event`` inside
the transaction and hand it, once the transaction commits, to the publisher
over a unix datagram socket (``emit``): fire and forget, so a publisher that
is down or stuck never stops a job. ``lava-server manage lava-publisher``
(``publisher``) serves them on LAVA's websocket, ``/ws/``, where
``lavacli events listen`` reads them, each listener seeing what the
visibility rules let it see (``scope``).
"""
