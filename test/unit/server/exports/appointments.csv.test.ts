import { expect } from 'chai';
import fc from 'fast-check';
import { appointmentsCsv, csvCell, CSV_HEADER } from '../../../../server/src/exports/appointments.csv.js';

/** A minimal RFC 4180 parser for one line (test oracle). */
function parseLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i += 1;
          break;
        } else value += line[i++];
      }
      cells.push(value);
      i += 1;
    } else {
      const end = line.indexOf(',', i);
      cells.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return cells;
}

describe('server exports: appointments CSV', () => {
  it('quotes commas, quotes and line breaks so that every cell parses back', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !/^[=+\-@\t\r]/.test(s) && !/[\r\n]/.test(s)),
        (value) => {
          expect(parseLine(csvCell(value))).to.deep.equal([value]);
        },
      ),
    );
    expect(csvCell('a,"b"')).to.equal('"a,""b"""');
    expect(csvCell('two\nlines')).to.equal('"two\nlines"');
    expect(csvCell(null)).to.equal('');
  });

  it('defuses cells a spreadsheet would run as a formula', () => {
    for (const formula of ['=1+1', '+cmd', '-2', '@SUM(A1)', '\tx']) expect(csvCell(formula).replace(/^"/, '')).to.match(/^'/);
  });

  it('writes a header and one CRLF line per appointment', () => {
    const csv = appointmentsCsv(
      { mrn: 'M-1', familyName: 'Doe', givenName: 'Jo' },
      [
        {
          id: 'a1',
          patientId: 'p',
          clinicianId: 'c1',
          startsAt: '2030-01-01T09:00:00.000Z',
          endsAt: '2030-01-01T09:30:00.000Z',
          department: 'Cardio',
          status: 'booked',
          notes: null,
          isSynthetic: false,
          createdAt: '',
          updatedAt: '',
        },
      ],
      new Map([['c1', 'Dr Who']]),
    );
    expect(csv).to.equal(`${CSV_HEADER.join(',')}\r\na1,M-1,Doe,Jo,2030-01-01T09:00:00.000Z,2030-01-01T09:30:00.000Z,Cardio,Dr Who,booked\r\n`);
  });
});
