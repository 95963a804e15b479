"""The `pesiar` command: every Django management command, run as `pesiar COMMAND`."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pesiar.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "pesiar"
    if args[1:2] == ["demo"]:
        # The demo serves plain http on 127.0.0.1: development settings unless told otherwise.
        os.environ.setdefault("DEBUG", "1")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
