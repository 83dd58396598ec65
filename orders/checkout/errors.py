"""What a client is refused at checkout, said as a French sentence for the page."""

from django.utils.translation import gettext_lazy

# The market may validate a basket before orders close (`distributions.day.pickup`).
VALIDATED_MESSAGE = gettext_lazy("Ce panier est déjà validé : il ne peut plus être modifié.")


class CheckoutError(Exception):
    """A refusal the client can understand and act on."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
