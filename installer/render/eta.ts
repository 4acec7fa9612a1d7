import { Eta } from 'eta';

/** One Eta instance for config templates: no HTML escaping (these are not web pages). */
const eta = new Eta({ autoEscape: false, useWith: false, varName: 'it', autoTrim: false });

/**
 * Render an Eta template string with `data`. Deterministic: templates only format the data.
 * @throws EtaError when the template has a syntax error or references a missing field.
 */
export function renderTemplate(template: string, data: object): string {
  return eta.renderString(template, data);
}
