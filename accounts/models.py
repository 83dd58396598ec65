"""People, markets and their memberships.

A person (`User`, logging in with an email) belongs to one or more markets
through a `Membership`, which carries their role there. Every membership has
a client account in the market's ledger (see `payments.models`).
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cagette.dates import window_constraint
from cagette.search import PersonText, matching_words


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        """The whole address in lower case, not just the domain.

        People type capitals anywhere in an address; storing and looking it up
        in one form means ``Mixed.Case@…`` logs in however it was typed.
        ``AbstractUser.clean`` calls it too, so every model form (the Django
        admin's included) validates uniqueness on the stored form.
        """
        return super().normalize_email(email).strip().lower()

    def get_by_natural_key(self, username):
        # Every login form (ours and the Django admin's) looks up the stored form.
        return super().get_by_natural_key(self.normalize_email(username))

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email is required")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    email = models.EmailField(_("adresse e-mail"), unique=True)
    # The language the person chose with the switcher ("" until they choose):
    # their emails are written in it, and logging in brings it back.
    language = models.CharField(
        _("langue"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        # Client lists are sorted by name (« Solde des clients », CLIENTS).
        # Name searches (`cagette.search.matching_words`) use a trigram index,
        # created by migration 0009 outside the model's state.
        indexes = [models.Index(fields=["last_name", "first_name", "email"], name="user_name_idx")]
        constraints = [
            # Addresses are stored lower case; this keeps a row written around
            # the model (raw SQL, an old import) from doubling a person.
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_lower_unique",
                violation_error_message=_("Un compte existe déjà avec cette adresse e-mail."),
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        # Whatever the path (admin, shell, import), the address is stored as login looks it up.
        self.email = type(self).objects.normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.last_name, self.email)


def display_name(first_name: str, last_name: str, email: str) -> str:
    """How a person is named on pages: their full name, else their address
    (`User.display_name`, for lists that read the three columns alone)."""
    return f"{first_name} {last_name}".strip() or email


def _default_methods():
    return ["cheque", "cash"]


class Market(models.Model):
    name = models.CharField(_("nom"), max_length=120)
    slug = models.SlugField(_("identifiant"), max_length=60, unique=True)
    payments_enabled = models.BooleanField(_("gestion des paiements"), default=True)
    allow_negative_balances = models.BooleanField(_("autoriser les soldes négatifs"), default=True)
    cagnotte_mode = models.BooleanField(_("option cagnotte"), default=False)
    # Methods offered at checkout (codes from payments.methods.OFFERABLE).
    payment_methods = models.JSONField(_("moyens de paiement proposés"), default=_default_methods)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    account_holder = models.CharField(_("titulaire du compte"), max_length=120, blank=True)
    cheque_payee = models.CharField(_("ordre des chèques"), max_length=120, blank=True)
    # Kept by the market on each producer's share transferred to their Stripe account.
    stripe_commission_percent = models.DecimalField(
        _("commission du marché sur les paiements en ligne (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    # Transfers still expected are reminded by email, once, this many days
    # before each distribution at this hour (local time): payments.tasks.
    transfer_reminders_auto = models.BooleanField(
        _("relancer automatiquement les virements non reçus"), default=False
    )
    transfer_reminders_days_before = models.PositiveSmallIntegerField(
        _("jours avant la distribution pour la relance"),
        default=2,
        validators=[MaxValueValidator(30)],
    )
    transfer_reminders_hour = models.PositiveSmallIntegerField(
        _("heure de la relance"), default=9, validators=[MaxValueValidator(23)]
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("marché")
        verbose_name_plural = _("marchés")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def offers(self, method: str) -> bool:
        return method in (self.payment_methods or [])

    @property
    def iban_display(self) -> str:
        """The IBAN grouped by 4, as printed on a bank statement."""
        compact = self.iban.replace(" ", "").upper()
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    @property
    def payee(self) -> str:
        return self.cheque_payee or self.account_holder or self.name


class Role(models.TextChoices):
    CLIENT = "client", _("Client")
    TREASURER = "treasurer", _("Trésorier")
    ADMIN = "admin", _("Administrateur")


STAFF_ROLES = (Role.TREASURER, Role.ADMIN)


class MembershipQuerySet(models.QuerySet):
    def for_market(self, market):
        return self.filter(market=market)

    def search(self, text: str):
        """By the person's names and email, ignoring accents and case (`cagette.search`)."""
        query = matching_words(PersonText("user__"), text)
        return self.filter(query) if query else self


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices, default=Role.CLIENT)
    joined_at = models.DateField(_("inscrit le"), default=timezone.localdate)
    # When the person last switched to this market: after logging in they land
    # on the market they were using (see `accounts.views.home`).
    last_visited_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "market"], name="membership_unique_user_market"
            ),
            window_constraint("joined_at", "membership_joined_at_in_window"),
        ]
        indexes = [
            # A market's few admins and treasurers, found without reading its
            # clients (« Solde des clients » leaves out those who do not buy).
            models.Index(
                fields=["market"],
                condition=models.Q(role__in=STAFF_ROLES),
                name="membership_staff_idx",
            )
        ]

    def __str__(self):
        return f"{self.user.display_name} — {self.market}"

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class MarketSettingsChange(models.Model):
    """One setting of a market changed by an admin: who, when, before and after.

    One row per changed setting; the settings changed by one save share
    ``changed_at``. The log reads as a plain table, and "when did the IBAN
    change?" is a filter rather than a search through JSON. Values are kept
    as text in one canonical form (booleans "true"/"false", method codes
    separated by commas); the page puts them into words, so the log is read
    in the reader's language.
    """

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="settings_changes")
    changed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    field = models.CharField(_("paramètre"), max_length=40)
    old_value = models.TextField(_("ancienne valeur"), blank=True)
    new_value = models.TextField(_("nouvelle valeur"), blank=True)

    class Meta:
        verbose_name = _("modification des paramètres")
        verbose_name_plural = _("modifications des paramètres")
        ordering = ["-changed_at", "-pk"]
        indexes = [
            models.Index(fields=["market", "-changed_at"], name="settings_change_market_idx")
        ]

    def __str__(self):
        return f"{self.market} · {self.field} · {self.changed_at:%Y-%m-%d %H:%M}"


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("à envoyer")
    SENT = "sent", _("envoyé")
    FAILED = "failed", _("non envoyé")


class OutgoingEmail(models.Model):
    """An email the app has decided to send: written with the decision, sent by a job.

    The message is rendered when it is decided (in the recipient's language,
    with the figures of that moment) and stored; the job `accounts.tasks.email_send`
    only delivers it. ``key`` names what the email is for, so that deciding the
    same email twice (a double submit) queues it once. ``about`` names the
    object it concerns (``order:12``, ``payment:34``): the admin sees an email
    that could not be sent on that object's page.
    """

    key = models.CharField(max_length=200, unique=True)
    about = models.CharField(max_length=100, db_index=True, blank=True)
    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, null=True, blank=True, related_name="emails"
    )
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="emails"
    )
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=998)
    body = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="email_status_idx")]

    def __str__(self):
        return f"{self.subject} → {self.to}"
