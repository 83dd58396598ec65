def markets(request):
    """The signed-in person's markets, for the market switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def my_memberships():
        return list(user.memberships.select_related("market").order_by("market__name"))

    return {"my_memberships": my_memberships}
