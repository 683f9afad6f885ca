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
    print("canvas-core: a typed, in-process event bus")
    for name in SECTIONS:
        importlib.import_module(name).run()


if __name__ == "__main__":
    main()
