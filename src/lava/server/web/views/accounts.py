"""Signing in and out (/accounts/...) and API tokens (/api/tokens/).

Sign-in is Django's, with the admin's rate limit (every attempt counted per
address and per user name) and Django's own check that ``next`` stays on
this site. Tokens: each user sees only their own; a token's secret is shown
once, right after it is made, and afterwards only on the owner's request
(a POST answered with no-store), so no page keeps a secret in its HTML.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lava.server.ratelimits import limit_sign_in
from lava.server.services import Missing, tokens

from ..access import actor

# the session key holding the id (never the secret) of the token made just now
FRESH = "web-fresh-token"


class SignIn(auth_views.LoginView):
    """Django's sign-in with our page; a failed attempt says so above the form."""

    template_name = "web/accounts/login.html"

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        why = " ".join(form.non_field_errors()) or "enter a user name and a password."
        messages.error(self.request, f"Sign-in failed: {why}")
        return super().form_invalid(form)


class SignOut(auth_views.LogoutView):
    """Django's sign-out: POST only (the page header's form), then home."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        answer = super().post(request, *args, **kwargs)
        messages.info(request, "Signed out.")
        return answer


def _back_to_tokens() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:tokens"))


@never_cache
@require_GET
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's own tokens; the one made just now with its secret, this once."""
    mine = tokens.my_tokens(actor(request))
    fresh = None
    fresh_id = request.session.pop(FRESH, None)
    if fresh_id is not None:
        try:
            fresh = tokens.my_token(actor(request), fresh_id)
        except Missing:  # deleted since, in another tab
            fresh = None
    unused = sum(1 for token in mine if token.last_used_on is None)
    context = {"tokens": mine, "fresh": fresh, "unused": unused}
    return render(request, "web/tokens/list.html", context)


@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    token = tokens.make_my_token(actor(request), request.POST.get("description", ""))
    request.session[FRESH] = token.pk
    messages.success(request, "Token created: copy its secret now.")
    return _back_to_tokens()


@require_POST
@login_required
def token_delete(request: HttpRequest, token_id: str) -> HttpResponse:
    tokens.remove_my_token(actor(request), token_id)
    messages.success(request, "Token deleted.")
    return _back_to_tokens()


@require_POST
@login_required
def token_delete_unused(request: HttpRequest) -> HttpResponse:
    count = tokens.remove_my_unused_tokens(actor(request))
    messages.success(request, f"{count} unused token{'s' if count != 1 else ''} deleted.")
    return _back_to_tokens()


@never_cache
@require_POST
@login_required
def token_secret(request: HttpRequest, token_id: str) -> HttpResponse:
    """The owner's token secret, for the page's reveal and copy buttons (JSON, no-store)."""
    token = tokens.my_token(actor(request), token_id)
    return JsonResponse({"id": token.pk, "secret": token.secret})


urlpatterns: list[URLPattern] = [
    path("accounts/login/", limit_sign_in(SignIn.as_view()), name="login"),
    path("accounts/logout/", SignOut.as_view(), name="logout"),
    path("api/tokens/", token_list, name="tokens"),
    path("api/tokens/create/", token_create, name="token_create"),
    path("api/tokens/delete_unused/", token_delete_unused, name="token_delete_unused"),
    path("api/tokens/<str:token_id>/delete/", token_delete, name="token_delete"),
    path("api/tokens/<str:token_id>/secret/", token_secret, name="token_secret"),
]
