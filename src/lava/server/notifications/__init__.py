"""Telling people and systems about jobs: the ``notify`` block's callbacks and mail.

``outbox`` records what a job owes in the transaction that moves it;
``sender`` (a thread of the scheduler daemon) delivers it with retries;
``body`` and ``mail`` say what is sent.
"""
