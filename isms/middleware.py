from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_cache_control


class JapaneseFirstLocaleMiddleware(LocaleMiddleware):
    """Japanese unless the person chose English with the language switch.

    Django's LocaleMiddleware would follow the browser's Accept-Language, and many of the
    city's PCs ship with English browsers; the policy's binding text is Japanese, so only an
    explicit choice (the language cookie) changes the language."""

    def process_request(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreWhenSignedInMiddleware:
    """`Cache-Control: no-store` on every answer to a signed-in person or a token caller.

    Pages, API answers, exports and evidence downloads of a signed-in person show what only
    they may see; neither the browser's disk cache on a shared office PC nor a proxy may
    keep a copy. What anonymous visitors get (the public basic policy, static files) may
    still be cached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # request.user is set below this middleware (sessions) or by DRF's authentication
        # inside the view (tokens); static files served by WhiteNoise never get it.
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or "HTTP_AUTHORIZATION" in request.META:
            patch_cache_control(response, no_store=True, private=True)
        return response
