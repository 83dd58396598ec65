"""One page of a list and its length in one query (cagette.http)."""

import pytest

from accounts.models import Membership
from cagette.http import page_with_count
from tests.factories import MembershipFactory


@pytest.fixture
def seven(market):
    MembershipFactory.create_batch(7, market=market)
    return Membership.objects.filter(market=market).order_by("pk")


def test_a_page_and_the_list_length_come_in_one_query(seven, django_assert_num_queries):
    expected = [m.pk for m in seven[3:6]]
    with django_assert_num_queries(1):
        page = page_with_count(seven, "2", 3)
        assert [m.pk for m in page] == expected
        assert page.paginator.count == 7
        assert page.paginator.num_pages == 3
        assert page.has_next() and page.has_previous()


def test_no_page_number_is_the_first_page(seven):
    page = page_with_count(seven, None, 3)
    assert page.number == 1 and len(page) == 3


def test_a_page_past_the_end_is_the_last_page(seven):
    page = page_with_count(seven, "9", 3)
    assert page.number == 3 and len(page) == 1


@pytest.mark.parametrize("number", ["abc", "0", "-1", "1.5"])
def test_a_number_that_is_not_a_page_goes_the_paginator_way(seven, number):
    page = page_with_count(seven, number, 3)
    assert page.number in (1, 3)
    assert page.paginator.count == 7


def test_an_empty_list_has_one_empty_page(market, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = page_with_count(Membership.objects.filter(market=market).order_by("pk"), "1", 3)
        assert list(page) == [] and page.paginator.count == 0 and page.paginator.num_pages == 1


@pytest.mark.parametrize("number", ["²", "٣", "99999999999999999999", str(2**62)])
def test_digits_of_other_scripts_or_past_any_page_go_the_paginator_way(seven, number):
    page = page_with_count(seven, number, 3)
    assert page.number in (1, 3)
    assert page.paginator.count == 7
