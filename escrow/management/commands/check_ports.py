"""``make run``'s first step: are the ports it is about to listen on free?

Checked before anything is migrated or seeded, so a second ``make run`` beside a running one
stops at once and says which port is taken and how to choose another, instead of migrating and
reseeding under the running instance and then failing on the port.
"""

import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

SIMULATOR_HOST = "127.0.0.1"  # where `manage.py fincra_simulator` listens


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host``:``port`` now (bound as runserver and the simulator
    bind: with SO_REUSEADDR, so a port in TIME_WAIT counts as free, a listening one does not)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return True  # an unknown host is runserver's error to report
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return False
    return True


def next_free(host: str, port: int, avoid: set[int]) -> int:
    candidate = port + 1
    while candidate in avoid or not port_free(host, candidate):
        candidate += 1
    return candidate


class Command(BaseCommand):
    help = "Exit with an error naming the port when one that `make run` needs is taken."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, required=True, help="the server's port (make run PORT=)")
        parser.add_argument("--simulator-port", type=int, default=settings.FINCRA_SIMULATOR_PORT,
                            help="the FinCra simulator's port (FINCRA_SIMULATOR_PORT=), when it is used")

    def handle(self, *args, host: str, port: int, simulator_port: int, **options) -> None:
        needed = [("PORT", "the server", host, port)]
        if settings.FINCRA_SIMULATED:
            if simulator_port == port:
                raise CommandError(f"PORT and FINCRA_SIMULATOR_PORT are both {port}: give them different values, "
                                   f"e.g. make run PORT={port} FINCRA_SIMULATOR_PORT={port + 1}")
            needed.append(("FINCRA_SIMULATOR_PORT", "the FinCra simulator", SIMULATOR_HOST, simulator_port))
        problems = [
            f"Port {number} on {address} ({what}) is taken, probably by another `make run`: stop it, or "
            f"choose another port: make run {variable}={next_free(address, number, {port, simulator_port})}"
            for variable, what, address, number in needed if not port_free(address, number)
        ]
        if problems:
            raise CommandError("\n".join(problems))
