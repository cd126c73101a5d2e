from pipecat_getstream.people.registry import ParticipantRegistry


def names(events):
    return [(name, args) for name, args in events]


def test_join_fires_connected_and_first_once_per_empty_to_occupied():
    reg = ParticipantRegistry("bot")
    assert names(reg.joined("alice", "s1")) == [
        ("on_participant_connected", ("alice",)),
        ("on_client_connected", ("alice",)),
        ("on_first_participant_joined", ("alice",)),
    ]
    assert reg.joined("alice", "s2") == []  # a second session of the same user
    assert [n for n, _ in reg.joined("bob", "s3")] == [
        "on_participant_connected",
        "on_client_connected",
    ]
    assert reg.participants() == ["alice", "bob"]


def test_leave_fires_unsubscribes_first_and_rejoin_is_a_new_join():
    reg = ParticipantRegistry("bot")
    reg.joined("alice", "s1")
    assert names(reg.track_subscribed("alice", "s1", "audio")) == [
        ("on_audio_track_subscribed", ("alice",))
    ]
    assert names(reg.track_subscribed("alice", "s1", "video")) == [
        ("on_video_track_subscribed", ("alice",))
    ]
    assert reg.track_subscribed("alice", "s1", "audio") == []  # no duplicate
    assert names(reg.left("alice", "s1")) == [
        ("on_audio_track_unsubscribed", ("alice",)),
        ("on_video_track_unsubscribed", ("alice",)),
        ("on_participant_disconnected", ("alice",)),
        ("on_participant_left", ("alice", "left")),
        ("on_client_disconnected", ("alice",)),
    ]
    assert reg.participants() == []
    assert reg.left("alice", "s1") == []  # leaving twice fires nothing
    again = [n for n, _ in reg.joined("alice", "s9")]
    assert again == [
        "on_participant_connected",
        "on_client_connected",
        "on_first_participant_joined",
    ]


def test_user_stays_while_any_session_remains():
    reg = ParticipantRegistry("bot")
    reg.joined("alice", "s1")
    reg.joined("alice", "s2")
    assert reg.left("alice", "s1") == []
    assert [n for n, _ in reg.left("alice", "s2")][-2:] == [
        "on_participant_left",
        "on_client_disconnected",
    ]


def test_own_sessions_are_ignored_and_track_before_join_joins():
    reg = ParticipantRegistry("bot")
    assert reg.joined("bot", "x") == []
    assert reg.track_subscribed("bot", "x", "audio") == []
    events = [n for n, _ in reg.track_subscribed("carol", "s1", "audio")]
    assert events == [
        "on_participant_connected",
        "on_client_connected",
        "on_first_participant_joined",
        "on_audio_track_subscribed",
    ]
    assert [n for n, _ in reg.track_unsubscribed("carol", "audio")] == [
        "on_audio_track_unsubscribed"
    ]
    assert reg.track_unsubscribed("carol", "audio") == []


def test_clear_leaves_everyone():
    reg = ParticipantRegistry("bot")
    reg.joined("a", "1")
    reg.joined("b", "2")
    left = [args[0] for n, args in reg.clear() if n == "on_participant_left"]
    assert left == ["a", "b"] and reg.participants() == []
