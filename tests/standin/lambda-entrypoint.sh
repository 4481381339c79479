#!/bin/sh
# As the AWS base images' entrypoint: outside Lambda, run the handler under the emulator.
exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap "$@"
