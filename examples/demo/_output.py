def section(title: str) -> None:
    """Print a section heading of the demo."""
    print(f"\n== {title} ==")
