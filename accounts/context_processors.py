from .access import memberships_of


def markets(request):
    """The signed-in person's markets, for the market switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def my_memberships():
        # A market page read them already (`accounts.access.market_view`).
        memberships = getattr(request, "my_memberships", None)
        return memberships_of(user) if memberships is None else memberships

    return {"my_memberships": my_memberships}
