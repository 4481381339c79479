from app.prices import load

TABLE = load()  # type: ignore[no-untyped-call]
