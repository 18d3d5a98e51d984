"""REST at ``/api/v0.2/``, as LAVA serves it (Django REST framework)."""
