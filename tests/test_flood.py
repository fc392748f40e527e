from bot.channels.flood import FloodGuard


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_flood_gets_one_notice_then_recovers():
    clock = Clock()
    guard = FloodGuard(limit=3, window=10, clock=clock)
    assert [guard.hit("u") for _ in range(3)] == [(True, False)] * 3
    assert guard.hit("u") == (False, True)
    assert guard.hit("u") == (False, False)
    assert guard.hit("other") == (True, False)
    clock.t = 10
    assert guard.hit("u") == (True, False)
    assert [guard.hit("u") for _ in range(3)][-1] == (False, True)


def test_tracked_users_are_bounded():
    guard = FloodGuard(limit=1, window=60, max_users=100, clock=Clock())
    for i in range(1000):
        guard.hit(str(i))
    assert len(guard._seen) == 100
