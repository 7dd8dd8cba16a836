"""A plug-in app whose model forgets to declare its scope: Andon must refuse to start with it
(``ANDON_EXTRA_APPS=tests.plugins.unscoped manage.py check``)."""
