"""The risk edge: what happens to every HTTP request before routing.

``reading`` turns a raw body into the key/value pairs that can carry risk (strict JSON when it
parses, a tolerant bounded scan when it does not); ``policy`` decides how a path's body is read
and which stored response a request is about; ``middleware`` puts them together so that risk
is read before anything else, stored for a known response, and shown on every answer.
"""
