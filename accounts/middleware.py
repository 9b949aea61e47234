"""allauth refuses a sign-in over its failed-login limit with a form error and HTTP 200;
clients and monitoring should see what it is, a 429. The account adapter marks the
request (accounts.adapters.AccountAdapter.pre_authenticate) and this turns the page's
status into 429, keeping allauth's form and its message."""


class RateLimitStatusMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "login_rate_limited", False) and response.status_code == 200:
            response.status_code = 429
            response.reason_phrase = "Too Many Requests"
        return response
