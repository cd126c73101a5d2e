"""``python -m pipecat_getstream.runner module:function``: serve a bot (see :mod:`.cli`)."""

from pipecat_getstream.runner.cli import main

if __name__ == "__main__":
    main()
