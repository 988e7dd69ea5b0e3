-- The legacy HR system's department master and assignment history, as a city has them.
-- Build it with: sqlite3 legacy_hr.db < legacy_hr.sql
CREATE TABLE dept (
  dept_cd TEXT PRIMARY KEY, dept_name TEXT, mgr_emp TEXT, status TEXT,
  budget TEXT, headcount TEXT, cost_rate NUMERIC, opened TEXT
);
INSERT INTO dept VALUES
  ('fin', 'Finance   Department', 'E1001', 'a', '$1,250,000.00', '42', 0.1250, '1998/07/01'),
  ('hr', 'Human Resources', 'E1002', 'A', '640,500.50', '17', 0.0875, '2001/01/15'),
  ('pw', 'Public Works', '', '  ', '($12.00)', '230', 1.5, '1985/03/31'),
  ('it', 'Information Technology', 'E1004', 'A', '980,000.00', '31', 0.3333, '2010/10/10');
CREATE TABLE asg_hist (
  emp_id TEXT, seq INTEGER, dept_cd TEXT, title TEXT, start_dt TEXT, end_dt TEXT,
  grade_dt TEXT, primary_yn TEXT, status TEXT, fte NUMERIC, salary TEXT, changed_at TEXT,
  PRIMARY KEY (emp_id, seq)
);
INSERT INTO asg_hist VALUES
  ('e1001', 1, 'fin', 'Accountant', '2015-01-05', '2018-06-30', '2015/01/05', 'Y', 'inactive', 1.0, '52,000.00', '2018-06-30 17:00:00'),
  ('e1001', 2, 'fin', 'Controller', '2018-07-01', '', '2018/07/01', 'Y', 'active', 1.0, '88,500.00', '2018-07-01 09:00:00'),
  ('e1002', 1, 'hr', 'HR  Officer', '2012-03-01', '', '2012/03/01', 'Y', 'active', 0.75, '61,250.25', '2012-03-01 09:00:00'),
  ('e1003', 1, 'pw', 'Crew Lead', '2009-09-14', '', '', 'N', 'suspended', 0.5, '47,000.00', '2009-09-14 08:30:00'),
  ('e1004', 1, 'it', 'Analyst', '2020-02-03', '', '2020/02/03', 'Y', 'active', 1.0, '73,400.00', '2020-02-03 10:15:00');
