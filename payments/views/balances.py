from django.http import HttpResponse

from accounts.access import staff_view


@staff_view
def balance_list(request):
    return HttpResponse("")


@staff_view
def balance_csv(request):
    return HttpResponse("")


@staff_view
def balance_pdf(request):
    return HttpResponse("")
