"""placeholder"""


def run(settings, store, backend):
    return 0
