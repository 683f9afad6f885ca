import importlib

# One module per part of the library; each has a run() that prints its section.
SECTIONS = [
    "demo.core",
    "demo.records",
    "demo.async_and_background",
    "demo.instrumentation",
    "demo.typing_check",
    "demo.cli",
]


def main() -> None:
    print("canvas-core: a typed, in-process event bus", flush=True)
    # mypy is the slow part: it checks its example in a child process while the other sections run.
    from demo import typing_check

    mypy_run = typing_check.start()
    for name in SECTIONS:
        module = importlib.import_module(name)
        if module is typing_check:
            typing_check.run(mypy_run)
        else:
            module.run()


if __name__ == "__main__":
    main()
