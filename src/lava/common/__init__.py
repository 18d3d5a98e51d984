"""Formats shared by the server and the dispatcher; imports nothing else of ours."""
