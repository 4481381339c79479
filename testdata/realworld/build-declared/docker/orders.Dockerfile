# Built from src/ (see the Makefile): the COPY sources are relative to it.
FROM public.ecr.aws/lambda/python:3.12
COPY orders/ ${LAMBDA_TASK_ROOT}/orders/
CMD ["orders.handler.handler"]
