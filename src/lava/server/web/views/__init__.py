"""One module per area of the site; each holds its views and its ``urlpatterns``."""
