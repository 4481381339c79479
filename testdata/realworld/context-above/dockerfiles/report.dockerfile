FROM public.ecr.aws/lambda/python:3.12
COPY functions/report/ ${LAMBDA_TASK_ROOT}/
CMD ["app.handler"]
