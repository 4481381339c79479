FROM public.ecr.aws/lambda/python:3.12
COPY functions/notify/ ${LAMBDA_TASK_ROOT}/
CMD ["app.handler"]
