"""URLs of the accounts app: signing in and out, the password, signing up (the waitlist,
e-mail verification, invitations)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("signup/", views.signup, name="signup"),
    path("signup/waitlist/", views.waitlist, name="waitlist"),
    path("signup/verify/resend/", views.verify_email_resend, name="verify_email_resend"),
    path("signup/verify/<str:token>/", views.verify_email, name="verify_email"),
    path("invitations/", views.invitations, name="invitations"),
]
