"""Page-number pagination: ?page= (from 1) and ?page_size= (1 to 100).

A page number that is not a whole number from 1 is a 400 naming ``page``; a page past the last is
DRF's 404 ("Invalid page."), which the schema documents on every paged list."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param) or 1
        if number in self.last_page_strings or str(number).isdigit() and int(number) >= 1:
            return number
        raise ValidationError({self.page_query_param: ["A page number: a whole number from 1."]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
