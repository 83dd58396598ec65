from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm
from .languages import LoginView

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "connexion/",
        LoginView.as_view(
            template_name="accounts/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("m/<slug:market_slug>/clients/", views.client_list, name="client_list"),
    path(
        "m/<slug:market_slug>/emails/<int:email_id>/renvoyer/",
        views.email_resend,
        name="email_resend",
    ),
]
