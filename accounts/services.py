from .models import User


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language ``user`` reads the site in (a code of ``LANGUAGES``)."""
    if user.language != language:
        user.language = language
        User.objects.filter(pk=user.pk).update(language=language)
