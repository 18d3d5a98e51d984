"""The web pages at LAVA's URLs: job lists and pages, the live log, devices, workers, results.

Like every interface, the pages only parse a request, call a service (or read
through the same visibility rules as the APIs) and translate: a hidden object
reads as a missing one, and every change goes through ``lava.server.services``.
"""
