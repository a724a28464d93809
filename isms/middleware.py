from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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
