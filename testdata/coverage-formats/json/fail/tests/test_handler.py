from app.handler import handler


def test_handler() -> None:
    assert handler({}, None) == {}
