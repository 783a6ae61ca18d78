"""PRODUCT.md §2 rule 5: only owners and operators grant or remove the owner role."""

from __future__ import annotations

import pytest

from seatledger.domain.errors import Forbidden
from seatledger.domain.users import check_owner_granted_by_owner


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, "owner"),
        ("member", "owner"),
        ("admin", "owner"),
        ("owner", "admin"),
        ("owner", "member"),
    ],
)
def test_anybody_but_an_owner_granting_or_removing_owner_is_forbidden_naming_role(before, after):
    with pytest.raises(Forbidden) as refused:
        check_owner_granted_by_owner(before, after, by_owner=False)
    assert refused.value.field == "role"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, "admin"),
        (None, "member"),
        ("member", "admin"),
        ("admin", "member"),
        ("owner", "owner"),
    ],
)
def test_an_admin_may_give_and_take_every_role_but_owner(before, after):
    check_owner_granted_by_owner(before, after, by_owner=False)


@pytest.mark.parametrize(
    ("before", "after"), [(None, "owner"), ("owner", "member"), ("admin", "owner")]
)
def test_owners_and_operators_grant_and_remove_owner(before, after):
    check_owner_granted_by_owner(before, after, by_owner=True)
