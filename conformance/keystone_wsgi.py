"""Keystone's WSGI application under gunicorn, run with the Keystone venv's python:

    keystone_wsgi.py HOST:PORT   (OS_KEYSTONE_CONFIG_FILES names keystone.conf)

Not the `gunicorn` command: Keystone parses the process's command line with
oslo.config when its application is loaded, and refuses gunicorn's arguments.

One worker, one thread: requests one at a time. With several threads, SQLite answers
"database is locked" at once (no wait) when two transactions that read first both
go on to write, and Keystone turns that into a 500 (seen deleting tempest's users).
"""

import sys

from gunicorn.app.base import BaseApplication


class Keystone(BaseApplication):
    def __init__(self, bind: str) -> None:
        self.bind = bind
        super().__init__()

    def load_config(self) -> None:
        settings = {"bind": self.bind, "workers": 1, "threads": 1,
                    "worker_class": "gthread", "timeout": 120,
                    "control_socket_disable": True}
        for key, value in settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        from keystone.wsgi.api import application
        return application


if __name__ == "__main__":
    bind = sys.argv[1]
    del sys.argv[1:]
    Keystone(bind).run()
