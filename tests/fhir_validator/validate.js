#!/usr/bin/env node
// Validates FHIR R4 resources with FHIR.js (the npm package `fhir`, Lantana Consulting Group), which the registry
// did not write: its R4 StructureDefinitions (profiles/types.json) and HL7's value sets (profiles/valuesets.json).
//
//   node validate.js [FILE ...]      each FILE a JSON resource (a Bundle or any other), a JSON array of
//                                    resources, or NDJSON (one resource per line); with no FILE, stdin.
//
// Prints one JSON document: {"fhirjs": version, "results": [{source, resourceType, id, messages: [...]}]}, each
// message {severity: fatal|error|warning|info, location, resourceId, message}. Exit status 1 when any message
// is fatal or error, 2 when an input cannot be read.
//
// What is checked, by FHIR.js's `new Fhir().validate(resource, {errorOnUnexpected: true})`:
//   * every element against the R4 definitions: unknown elements, cardinality (missing required, arrays), the
//     primitive formats (date, dateTime, code, id, integer, decimal, ...), the reference target types, and the
//     resources of Bundle.entry and of contained;
//   * every code, Coding and CodeableConcept against the value set of its binding: an error when the binding is
//     required, a warning when it is extensible, preferred or example, info when FHIR.js lacks the value set.
// And by this script, since HL7's code systems are case-sensitive and most of their bindings are not required:
//   * every Coding whose system is an HL7 code system (http://terminology.hl7.org/CodeSystem/... or
//     http://hl7.org/fhir/... but not .../sid/...) must carry a code of that system, as the value sets of valuesets.json list its
//     concepts (an error otherwise; a warning when no value set lists that system, so it cannot be checked).
"use strict";

const fs = require("fs");
const path = require("path");
const { Fhir } = require("fhir");
const valueSets = require("fhir/profiles/valuesets.json");
const { version } = require("fhir/package.json");

// HL7's code systems; http://hl7.org/fhir/sid/... name external ones (ICD-10, NDC, ...), not HL7's.
const HL7_SYSTEM = /^http:\/\/(terminology\.hl7\.org\/CodeSystem\/|hl7\.org\/fhir\/(?!sid\/))/;

// {system: Set(code)}: every concept of a code system that any of HL7's value sets lists.
const concepts = new Map();
for (const valueSet of Object.values(valueSets)) {
  for (const system of valueSet.systems || []) {
    if (!concepts.has(system.uri)) concepts.set(system.uri, new Set());
    for (const concept of system.codes || []) concepts.get(system.uri).add(concept.code);
  }
}

function* codings(value, location) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* codings(value[i], `${location}[${i}]`);
  } else if (value && typeof value === "object") {
    if (typeof value.system === "string" && "code" in value) yield [value, location];
    for (const [key, item] of Object.entries(value)) {
      if (key !== "resourceType") yield* codings(item, location ? `${location}.${key}` : key);
    }
  }
}

function terminology(resource) {
  const messages = [];
  for (const [coding, location] of codings(resource, resource.resourceType)) {
    if (!HL7_SYSTEM.test(coding.system)) continue;
    const known = concepts.get(coding.system);
    if (!known) {
      messages.push({
        severity: "warning",
        location,
        resourceId: resource.id,
        message: `HL7 code system ${coding.system} is in none of FHIR.js's value sets: code "${coding.code}" not checked`,
      });
    } else if (!known.has(coding.code)) {
      messages.push({
        severity: "error",
        location,
        resourceId: resource.id,
        message: `Code "${coding.code}" is not a concept of the HL7 code system ${coding.system}`,
      });
    }
  }
  return messages;
}

function inputs(text, source) {
  const trimmed = text.trim();
  if (!trimmed) return [];
  try {
    const parsed = JSON.parse(trimmed);
    return Array.isArray(parsed) ? parsed.map((r, i) => [`${source}[${i}]`, r]) : [[source, parsed]];
  } catch (error) {
    // NDJSON: one resource per line.
    return trimmed.split(/\r?\n/).map((line, i) => [`${source}:${i + 1}`, JSON.parse(line)]);
  }
}

function main() {
  const files = process.argv.slice(2);
  let resources = [];
  try {
    if (files.length === 0) resources = inputs(fs.readFileSync(0, "utf8"), "stdin");
    for (const file of files) resources = resources.concat(inputs(fs.readFileSync(file, "utf8"), path.basename(file)));
  } catch (error) {
    process.stderr.write(`cannot read the input: ${error.message}\n`);
    return 2;
  }
  const fhir = new Fhir();
  const results = resources.map(([source, resource]) => {
    const response = fhir.validate(resource, { errorOnUnexpected: true });
    const messages = response.messages.concat(terminology(resource));
    return { source, resourceType: resource.resourceType, id: resource.id, messages };
  });
  process.stdout.write(JSON.stringify({ fhirjs: version, results }) + "\n");
  const bad = results.some((r) => r.messages.some((m) => m.severity === "error" || m.severity === "fatal"));
  return bad ? 1 : 0;
}

process.exitCode = main();
