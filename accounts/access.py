"""Access to market pages: every view is scoped to one market and one role.

`market_view` resolves the market from the URL and the signed-in person's
membership in it. Someone who is not a member gets a 404 (a market they do not
belong to does not exist for them); a member whose role is not allowed gets a
403.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from .models import STAFF_ROLES, Membership, Role

SESSION_MARKET_KEY = "market_slug"


def memberships_of(user) -> list[Membership]:
    """The person's memberships with their markets, by market name.

    Each membership's ``user`` is ``user`` itself, not a copy read again by a join.
    """
    memberships = list(
        Membership.objects.filter(user_id=user.pk).select_related("market").order_by("market__name")
    )
    for membership in memberships:
        membership.user = user
    return memberships


def get_membership_for_user(user, market_slug: str, memberships=None) -> Membership:
    """The person's membership in the market (404 if none), among ``memberships`` if given."""
    for membership in memberships_of(user) if memberships is None else memberships:
        if membership.market.slug == market_slug:
            return membership
    raise Http404


def market_view(*roles: str):
    """Decorate a view taking ``(request, market_slug, ...)``.

    Sets ``request.market`` and ``request.membership`` (and
    ``request.my_memberships``, all of the person's); with ``roles``, only
    those roles may enter.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, market_slug, *args, **kwargs):
            # Read once for both: the market switcher of every page lists them
            # (`accounts.context_processors.markets`).
            request.my_memberships = memberships_of(request.user)
            membership = get_membership_for_user(request.user, market_slug, request.my_memberships)
            # Set before the role check: the 403 page leads back to this market's home.
            request.market = membership.market
            request.membership = membership
            if roles and membership.role not in roles:
                raise PermissionDenied
            if request.session.get(SESSION_MARKET_KEY) != membership.market.slug:
                # Only on change: writing it every time would save the session on every page.
                request.session[SESSION_MARKET_KEY] = membership.market.slug
                Membership.objects.filter(pk=membership.pk).update(last_visited_at=timezone.now())
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_view = market_view(*STAFF_ROLES)
admin_view = market_view(Role.ADMIN)
member_view = market_view()
