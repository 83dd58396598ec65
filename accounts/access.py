"""Access to market pages: every view is scoped to one market and one role.

`market_view` resolves the market from the URL and the signed-in person's
membership in it. Someone who is not a member gets a 404 (a market they do not
belong to does not exist for them); a member whose role is not allowed gets a
403.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import STAFF_ROLES, Membership, Role

SESSION_MARKET_KEY = "market_slug"


def get_membership_for_user(user, market_slug: str) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("market", "user"), market__slug=market_slug, user=user
    )


def market_view(*roles: str):
    """Decorate a view taking ``(request, market_slug, ...)``.

    Sets ``request.market`` and ``request.membership``; with ``roles``, only
    those roles may enter.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, market_slug, *args, **kwargs):
            membership = get_membership_for_user(request.user, market_slug)
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
