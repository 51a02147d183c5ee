"""Calendars as answers: the days of a range, the next N open days and the previous one, per market and
Connect direction, on the demo calendar (2024-01-02 to 2026-12-31); past it, answers say they are partial."""

from typing import Any

CALENDAR = """
query Days($market: TradingCalendar!, $from: Date!, $to: Date!) {
  calendarDays(market: $market, from: $from, to: $to) {
    market from to knownFrom knownTo complete unknownDays openDays halfDays holidays
    days { day isOpen isHalfDay isWeekend note }
  }
}"""

NEXT = """
query Next($market: TradingCalendar!, $after: Date, $count: Int!) {
  nextTradingDays(market: $market, after: $after, count: $count) {
    market reference requested complete nearest knownTo days { day isHalfDay }
  }
}"""

PREVIOUS = """
query Previous($market: TradingCalendar!, $before: Date) {
  previousTradingDay(market: $market, before: $before) { reference nearest complete knownFrom knownTo }
}"""


def _open(days: list[dict[str, Any]]) -> list[str]:
    return [d["day"] for d in days if d["isOpen"]]


async def test_national_day_week_hong_kong_open_connect_closed(gql: Any) -> None:
    week = {"from": "2026-09-28", "to": "2026-10-04"}

    hk = (await gql(CALENDAR, {"market": "HONG_KONG", **week}))["data"]["calendarDays"]
    mainland = (await gql(CALENDAR, {"market": "MAINLAND", **week}))["data"]["calendarDays"]
    connect = (await gql(CALENDAR, {"market": "SOUTHBOUND_CONNECT", **week}))["data"]["calendarDays"]

    assert _open(hk["days"]) == ["2026-09-28", "2026-09-29", "2026-09-30", "2026-10-02"]
    assert _open(mainland["days"]) == ["2026-09-28", "2026-09-29", "2026-09-30"]
    assert _open(connect["days"]) == ["2026-09-28", "2026-09-29", "2026-09-30"]
    assert [(d["day"], d["note"]) for d in connect["days"] if not d["isOpen"]] == [
        ("2026-10-01", "National Day"),
        ("2026-10-02", "Mainland: National Day"),
        ("2026-10-03", "Weekend"),
        ("2026-10-04", "Weekend"),
    ]
    assert (connect["complete"], connect["unknownDays"], connect["openDays"], connect["holidays"]) == (
        True,
        0,
        3,
        2,
    )
    assert (connect["knownFrom"], connect["knownTo"]) == ("2024-01-02", "2026-12-31")


async def test_half_days_and_make_up_working_days(gql: Any) -> None:
    december = (await gql(CALENDAR, {"market": "HONG_KONG", "from": "2026-12-21", "to": "2026-12-31"}))[
        "data"
    ]
    february = (
        await gql(CALENDAR, {"market": "NORTHBOUND_CONNECT", "from": "2026-02-14", "to": "2026-02-14"})
    )["data"]

    halves = [(d["day"], d["note"]) for d in december["calendarDays"]["days"] if d["isHalfDay"]]
    assert halves == [("2026-12-24", "Christmas Eve (half day)"), ("2026-12-31", "New Year's Eve (half day)")]
    assert december["calendarDays"]["halfDays"] == 2
    assert december["calendarDays"]["holidays"] == 1  # Christmas Day; the 26th is a Saturday
    makeup = february["calendarDays"]["days"]
    assert makeup == [
        {
            "day": "2026-02-14",
            "isOpen": False,
            "isHalfDay": False,
            "isWeekend": True,
            "note": "Mainland make-up working day (exchanges and Connect closed)",
        }
    ]


async def test_which_days_connect_is_open_next_week(gql: Any) -> None:
    body = await gql(NEXT, {"market": "SOUTHBOUND_CONNECT", "after": "2026-12-18", "count": 5})

    answer = body["data"]["nextTradingDays"]
    assert [d["day"] for d in answer["days"]] == [
        "2026-12-21",
        "2026-12-22",
        "2026-12-23",
        "2026-12-24",
        "2026-12-28",
    ]
    assert [d["isHalfDay"] for d in answer["days"]] == [False, False, False, True, False]
    assert (answer["complete"], answer["nearest"], answer["requested"]) == (True, "2026-12-21", 5)


async def test_directions_differ_where_an_exception_closes_one(gql: Any, conn: Any) -> None:
    # given southbound trading suspended on Monday 21 December 2026 (a typhoon, say)
    await conn.execute(
        "INSERT INTO connect_calendar_exceptions VALUES ('SOUTHBOUND', '2026-12-21', false, 'typhoon signal 8')"
    )

    south = (await gql(NEXT, {"market": "SOUTHBOUND_CONNECT", "after": "2026-12-18", "count": 2}))["data"]
    north = (await gql(NEXT, {"market": "NORTHBOUND_CONNECT", "after": "2026-12-18", "count": 2}))["data"]
    day = (await gql(CALENDAR, {"market": "SOUTHBOUND_CONNECT", "from": "2026-12-21", "to": "2026-12-21"}))[
        "data"
    ]

    assert [d["day"] for d in south["nextTradingDays"]["days"]] == ["2026-12-22", "2026-12-23"]
    assert [d["day"] for d in north["nextTradingDays"]["days"]] == ["2026-12-21", "2026-12-22"]
    assert day["calendarDays"]["days"][0]["note"] == "typhoon signal 8"


async def test_past_the_loaded_calendar_answers_say_they_are_partial(gql: Any) -> None:
    year_end = (await gql(NEXT, {"market": "HONG_KONG", "after": "2026-12-29", "count": 5}))["data"]
    beyond = (await gql(CALENDAR, {"market": "HONG_KONG", "from": "2026-12-30", "to": "2027-01-05"}))["data"]
    previous = (await gql(PREVIOUS, {"market": "HONG_KONG", "before": "2027-03-01"}))["data"]
    before_start = (await gql(NEXT, {"market": "MAINLAND", "after": "2023-06-01", "count": 1}))["data"]

    assert year_end["nextTradingDays"]["days"] == [
        {"day": "2026-12-30", "isHalfDay": False},
        {"day": "2026-12-31", "isHalfDay": True},
    ]
    assert (year_end["nextTradingDays"]["complete"], year_end["nextTradingDays"]["knownTo"]) == (
        False,
        "2026-12-31",
    )
    assert [d["day"] for d in beyond["calendarDays"]["days"]] == ["2026-12-30", "2026-12-31"]
    assert (beyond["calendarDays"]["complete"], beyond["calendarDays"]["unknownDays"]) == (False, 5)
    # the days between the calendar's end and `before` are unknown: no previous day is made up
    assert previous["previousTradingDay"] == {
        "reference": "2027-03-01",
        "nearest": None,
        "complete": False,
        "knownFrom": "2024-01-02",
        "knownTo": "2026-12-31",
    }
    assert (before_start["nextTradingDays"]["nearest"], before_start["nextTradingDays"]["complete"]) == (
        None,
        False,
    )


async def test_previous_connect_day_before_a_holiday_run(gql: Any) -> None:
    body = await gql(PREVIOUS, {"market": "NORTHBOUND_CONNECT", "before": "2026-10-08"})

    assert body["data"]["previousTradingDay"]["nearest"] == "2026-09-30"
    assert body["data"]["previousTradingDay"]["complete"] is True


async def test_a_gap_in_the_calendar_stops_the_count(gql: Any, conn: Any) -> None:
    # given a calendar missing 2026-12-23 (a partial load)
    await conn.execute("DELETE FROM trading_calendar WHERE market = 'XHKG' AND day = '2026-12-23'")

    body = await gql(NEXT, {"market": "HONG_KONG", "after": "2026-12-18", "count": 5})

    assert [d["day"] for d in body["data"]["nextTradingDays"]["days"]] == ["2026-12-21", "2026-12-22"]
    assert body["data"]["nextTradingDays"]["complete"] is False


async def test_one_statement_for_the_three_questions(gql: Any, db: Any) -> None:
    document = """{
      a: calendarDays(market: SOUTHBOUND_CONNECT, from: "2026-12-01", to: "2026-12-31") { openDays days { day } }
      b: nextTradingDays(market: NORTHBOUND_CONNECT, after: "2026-12-01", count: 3) { days { day } }
      c: previousTradingDay(market: MAINLAND, before: "2026-12-01") { nearest }
    }"""

    body = await gql(document)

    assert body["data"]["a"]["openDays"] == 22  # 23 weekdays less Christmas Day
    assert body["data"]["c"]["nearest"] == "2026-11-30"
    assert len(db.statements) == 3  # one per root field


async def test_bad_ranges_and_counts_are_refused(gql: Any) -> None:
    backwards = await gql(CALENDAR, {"market": "HONG_KONG", "from": "2026-12-02", "to": "2026-12-01"})
    too_long = await gql(CALENDAR, {"market": "HONG_KONG", "from": "2000-01-01", "to": "2026-12-01"})
    zero = await gql(NEXT, {"market": "HONG_KONG", "count": 0})

    assert [
        e["extensions"]["argument"]
        for e in (backwards["errors"][0], too_long["errors"][0], zero["errors"][0])
    ] == [
        "from",
        "to",
        "count",
    ]
    assert {b["errors"][0]["extensions"]["code"] for b in (backwards, too_long, zero)} == {"BAD_USER_INPUT"}
