import { malformedXml } from './errors';

/** An element of a request body: S3's request documents are small and need no namespaces. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (_whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    const named = ENTITIES[entity];
    if (named === undefined) throw malformedXml();
    return named;
  });
}

/**
 * Parses a request body (CompleteMultipartUpload, Delete, VersioningConfiguration, Tagging, …).
 * Anything that is not well-formed is S3's `MalformedXML`, never an exception out of the server.
 */
export function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: XmlElement[] = [root];
  const token =
    /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([^\s/>]+)[^>]*?(\/?)>|([^<]+)/g;
  let last = 0;
  for (let match = token.exec(source); match !== null; match = token.exec(source)) {
    if (match.index !== last) throw malformedXml();
    last = token.lastIndex;
    const current = stack[stack.length - 1]!;
    const [, cdata, closing, name, selfClosing, text] = match;
    if (cdata !== undefined) current.text += cdata;
    else if (text !== undefined) current.text += decodeEntities(text);
    else if (name === undefined) continue;
    else if (closing) {
      if (current.name !== name || stack.length === 1) throw malformedXml();
      stack.pop();
    } else {
      const element: XmlElement = {
        name: name.includes(':') ? name.slice(name.indexOf(':') + 1) : name,
        children: [],
        text: '',
      };
      current.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (last !== source.length || stack.length !== 1) throw malformedXml();
  const elements = root.children;
  if (elements.length !== 1 || root.text.trim() !== '') throw malformedXml();
  return elements[0]!;
}

export const child = (element: XmlElement, name: string) => element.children.find((c) => c.name === name);
export const childrenNamed = (element: XmlElement, name: string) =>
  element.children.filter((c) => c.name === name);

/** Escapes text for an XML 1.0 document; control characters become character references. */
export function escapeXml(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 text cannot hold them raw
  return value.replace(/[&<>"'\u0000-\u001f]/g, (char) => {
    switch (char) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#${char.charCodeAt(0)};`;
    }
  });
}

/** A value in a response document: text, a nested element list, or a repeated element. */
export type XmlValue = string | number | boolean | undefined | XmlNode[] | XmlNode;
export type XmlNode = [name: string, value: XmlValue];

function render(nodes: XmlNode[]): string {
  let out = '';
  for (const [name, value] of nodes) {
    if (value === undefined) continue;
    if (Array.isArray(value) && (value.length === 0 || Array.isArray(value[0]))) {
      out += `<${name}>${render(value as XmlNode[])}</${name}>`;
    } else if (Array.isArray(value)) {
      out += `<${name}>${render([value as XmlNode])}</${name}>`;
    } else {
      out += `<${name}>${escapeXml(String(value))}</${name}>`;
    }
  }
  return out;
}

/** A response document with S3's namespace on its root element. */
export function xmlDocument(root: string, nodes: XmlNode[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${render(nodes)}</${root}>`;
}

/** The error document: no namespace, as S3 sends it. */
export function xmlError(nodes: XmlNode[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${render(nodes)}</Error>`;
}
