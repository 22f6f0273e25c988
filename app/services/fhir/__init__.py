"""HL7 FHIR R4 and R5 views of questionnaires, responses and results.

Plain JSON resources, built and read here; the scoring is the service's own, so a FHIR client
gets exactly the numbers and the crisis notice any other client gets.
"""
