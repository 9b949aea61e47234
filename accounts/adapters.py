from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def pre_authenticate(self, request, **credentials):
        # Over allauth's failed-login limit: the form shows allauth's message and
        # accounts.middleware answers 429 instead of 200.
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            request.login_rate_limited = True
            raise

    def send_mail(self, template_prefix, email, context):
        # Without django.contrib.sites allauth names the site after the request's host
        # ("Hello from 127.0.0.1!"); mails speak as SITE_NAME at SITE_URL instead.
        site = SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)
        super().send_mail(template_prefix, email, {"current_site": site, **context})

    def get_email_verification_redirect_url(self, email_address):
        # A vote that waited for this verification was cast by the email_confirmed
        # handler (accounts.signals), which noted the page it was asked for.
        next_url = getattr(self.request, "pending_vote_next", None)
        if next_url:
            if self.request.user.is_authenticated:
                return next_url
            return f"{reverse('account_login')}?{urlencode({'next': next_url})}"
        return super().get_email_verification_redirect_url(email_address)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def get_app(self, request, provider, client_id=None):
        # A provider without its client id and secret has no app, and allauth lets that
        # escape its login and callback views as a 500. Those URLs lead nowhere then:
        # a 404 (still a SocialApp.DoesNotExist for allauth code that catches it).
        try:
            return super().get_app(request, provider, client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(provider) from None


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    pass
