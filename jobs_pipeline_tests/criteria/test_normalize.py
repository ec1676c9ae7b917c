import re

import pytest

from jobs_pipeline.criteria.normalize import (
    MAX_KEYWORDS_LENGTH,
    InvalidCriteriaError,
    canonicalize,
)


def criteria(**overrides):
    values = {
        "keywords": "Python developer",
        "location": "Berlin",
        "remote": "any",
        "source": "linkedin",
        "posted_within_days": None,
    }
    values.update(overrides)
    return canonicalize(**values)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"keywords": "Python developer"}, {"keywords": "  python   DEVELOPER "}),
        ({"keywords": "Django, Python"}, {"keywords": "python,django, python"}),
        ({"location": "Zürich"}, {"location": "ZU\u0308RICH"}),
        ({"keywords": "ｐｙｔｈｏｎ"}, {"keywords": "python"}),
        ({"location": None}, {"location": "   "}),
        ({"remote": None}, {"remote": "ANY"}),
        ({"source": "LinkedIn"}, {"source": " linkedin "}),
        ({"keywords": "python\tdeveloper"}, {"keywords": "python developer"}),
    ],
)
def test_equivalent_criteria_share_set_key(first, second):
    assert criteria(**first).set_key == criteria(**second).set_key


@pytest.mark.parametrize(
    "different",
    [
        {"keywords": "Java developer"},
        {"location": "Munich"},
        {"remote": "remote"},
        {"source": "indeed"},
        {"posted_within_days": 7},
    ],
)
def test_searchable_field_splits_sets(different):
    assert criteria().set_key != criteria(**different).set_key


def test_set_key_is_sha256_hex():
    key = criteria().set_key
    assert len(key) == 64
    assert int(key, 16) >= 0


def test_canonical_keywords_sorted_unique():
    assert criteria(keywords="Python, django , PYTHON,,").keywords == ("django", "python")


def test_non_latin_text_kept():
    canonical = criteria(keywords="データ エンジニア", location="東京")
    assert canonical.keywords == ("データ エンジニア",)
    assert canonical.location == "東京"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"keywords": ""}, "keywords are empty"),
        ({"keywords": "   \t "}, "keywords are empty"),
        ({"keywords": " , ,"}, "keywords are empty"),
        ({"keywords": None}, "keywords are empty"),
        ({"keywords": "x" * (MAX_KEYWORDS_LENGTH + 1)}, "more than the maximum"),
        ({"keywords": "python\x00developer"}, "U+0000"),
        ({"keywords": "python\x1bdev"}, "U+001B"),
        ({"location": "Berlin\x07"}, "location contains the control character"),
        ({"source": "xing"}, "unknown source 'xing'"),
        ({"source": None}, "unknown source"),
        ({"remote": "sometimes"}, "unknown remote mode 'sometimes'"),
        ({"posted_within_days": 0}, "posted_within_days is 0"),
        ({"posted_within_days": 400}, "posted_within_days is 400"),
    ],
)
def test_unsearchable_criteria_rejected(overrides, message):
    with pytest.raises(InvalidCriteriaError, match=re.escape(message)):
        criteria(**overrides)


def test_invisible_characters_ignored():
    assert criteria(keywords="python\u200b developer\ufeff").set_key == criteria().set_key


def test_emoji_joiner_kept():
    assert criteria(keywords="👩\u200d💻 developer").keywords == ("👩\u200d💻 developer",)


def test_noncharacter_rejected():
    with pytest.raises(InvalidCriteriaError, match=re.escape("U+FFFF")):
        criteria(keywords="python\uffff")
